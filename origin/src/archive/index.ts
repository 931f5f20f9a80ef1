// The archive uploader (docs/archive.md): what the rest of the origin uses.
export { runUploader, type HourDirReport, type UploaderOptions, type UploaderReport } from "./uploader";
export { UploaderBusyError } from "./lock";
export { UPLOADER_STEPS, type UploaderStep } from "./steps";
