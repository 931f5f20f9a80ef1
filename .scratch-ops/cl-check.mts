import { readCitizenlabStrict } from "/work/main/origin/src/updaters/citizenlab";
const r = await readCitizenlabStrict("/work/shared/corpus/citizenlab-test-lists");
console.log(r.rows.length, r.files.length, r.duplicates, r.notInCountryLegend);
