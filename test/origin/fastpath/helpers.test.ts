import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pyB64Decode } from "../../../origin/src/fastpath/scoring/base64";
import { compareVersions, parseVersion } from "../../../origin/src/fastpath/scoring/pep440";
import { pyEq, pyFloat, pyIn, pyInt, pyRepr, truthy } from "../../../origin/src/fastpath/scoring/py";
import { SubstringSet } from "../../../origin/src/fastpath/scoring/substring-set";

describe("Python semantics", () => {
  it("truthiness", () => {
    for (const v of [null, undefined, false, 0, -0, "", [], {}]) expect(truthy(v), JSON.stringify(v)).toBe(false);
    for (const v of [true, 1, -1, NaN, "0", [0], { a: null }]) expect(truthy(v)).toBe(true);
  });

  it("== between JSON values", () => {
    expect(pyEq(1, true)).toBe(true);
    expect(pyEq(0, false)).toBe(true);
    expect(pyEq(1.0, 1)).toBe(true);
    expect(pyEq("1", 1)).toBe(false);
    expect(pyEq(null, false)).toBe(false);
    expect(pyEq([1, { a: true }], [true, { a: 1 }])).toBe(true);
    expect(pyEq({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });

  it("in", () => {
    expect(pyIn("ab", "xabx")).toBe(true);
    expect(pyIn(1, [true])).toBe(true);
    expect(pyIn("k", { k: 1 })).toBe(true);
    expect(pyIn("x", 5)).toBeNull();
    expect(pyIn(1, "abc")).toBeNull();
  });

  it("float() and int()", () => {
    expect(pyFloat(" 5 ")).toBe(5);
    expect(pyFloat("1_000.5")).toBe(1000.5);
    expect(pyFloat(".5e1")).toBe(5);
    expect(pyFloat("-inf")).toBe(-Infinity);
    expect(Number.isNaN(pyFloat("nan"))).toBe(true);
    expect(pyFloat("5.")).toBe(5);
    expect(pyFloat("abc")).toBeNull();
    expect(pyFloat(null)).toBeNull();
    expect(pyFloat(true)).toBe(1);
    expect(pyInt("42")).toBe(42);
    expect(pyInt(" -7 ")).toBe(-7);
    expect(pyInt(3.9)).toBe(3);
    expect(pyInt("3.9")).toBeNull();
    expect(pyInt(null)).toBeNull();
  });

  it("repr()", () => {
    expect(pyRepr({ a: [1, null, true, "it's"] })).toBe(`{'a': [1, None, True, "it's"]}`);
    expect(pyRepr(1.5)).toBe("1.5");
  });
});

describe("PEP 440 versions", () => {
  const lt = (a: string, b: string) => compareVersions(parseVersion(a)!, parseVersion(b)!) < 0;
  const eq = (a: string, b: string) => compareVersions(parseVersion(a)!, parseVersion(b)!) === 0;

  it("orders releases, pre, post and dev releases", () => {
    expect(lt("0.2.2", "0.2.3")).toBe(true);
    expect(lt("0.2.10", "0.2.9")).toBe(false);
    expect(eq("1.0", "1.0.0")).toBe(true);
    expect(lt("3.17.0-alpha", "3.17.0")).toBe(true);
    expect(lt("3.17.2-alpha", "3.17.2")).toBe(true);
    expect(lt("3.17.2-beta.2", "3.17.2-rc1")).toBe(true);
    expect(lt("1.0.dev1", "1.0a1")).toBe(true);
    expect(lt("1.0", "1.0.post1")).toBe(true);
    expect(lt("1.0a1.dev1", "1.0a1")).toBe(true);
    expect(lt("1.0", "1.0+local")).toBe(true);
    expect(eq("v1.0", "1.0")).toBe(true);
    expect(lt("1!0.1", "2.0")).toBe(false);
  });

  it("rejects what packaging rejects", () => {
    for (const v of ["", "abc", "1.0-dirty-x", "3.10.0-alpha.1-dirty", "1..0"]) expect(parseVersion(v), v).toBeNull();
    expect(parseVersion(3)).toBeNull();
  });
});

describe("base64 as Python decodes it", () => {
  const dec = (s: string) => {
    const b = pyB64Decode(s);
    return b === null ? null : Buffer.from(b).toString("latin1");
  };

  it("decodes, skipping characters outside the alphabet", () => {
    expect(dec("aGVsbG8=")).toBe("hello");
    expect(dec("aGVs\nbG8=")).toBe("hello");
    expect(dec("aGVsbA==trailing ignored")).toBe("hell");
    expect(dec("")).toBe("");
  });

  it("raises on incorrect padding or a dangling character", () => {
    expect(dec("aGk")).toBeNull();
    expect(dec("aGVsb")).toBeNull();
    expect(dec("a===")).toBeNull();
    expect(dec("aGk=")).toBe("hi");
    expect(pyB64Decode("aGk=é")).toBeNull(); // non-ASCII text
    expect(pyB64Decode(5)).toBeNull();
  });

  it("agrees with Node on well-formed input", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b64 = Buffer.from(bytes).toString("base64");
        expect(Buffer.from(pyB64Decode(b64)!)).toEqual(Buffer.from(bytes));
      }),
    );
  });
});

describe("SubstringSet (one-pass multi-pattern search)", () => {
  const naive = (patterns: string[], text: string) =>
    patterns.flatMap((p, i) => (Buffer.from(text).includes(Buffer.from(p)) || p === "" ? [i] : []));

  it("finds every occurring pattern once, in id order", () => {
    const set = new SubstringSet(["he", "she", "his", "hers", "", "é"]);
    expect(set.findInString("ushers")).toEqual([0, 1, 3, 4]);
    expect(set.findInString("café")).toEqual([4, 5]);
    expect(set.findInBytes(new TextEncoder().encode("this"))).toEqual([2, 4]);
    expect(new SubstringSet([]).findInString("anything")).toEqual([]);
  });

  it("agrees with a naive search (fast-check)", () => {
    const alphabet = fc.constantFrom("a", "b", "c", "é", "😀", "\ud800", "<");
    const str = (max: number) => fc.array(alphabet, { maxLength: max }).map((a) => a.join(""));
    fc.assert(
      fc.property(fc.array(str(5), { maxLength: 12 }), str(60), (patterns, text) => {
        const set = new SubstringSet(patterns);
        expect(set.findInString(text)).toEqual(naive(patterns, text));
        expect(set.findInBytes(Buffer.from(text))).toEqual(naive(patterns, text));
      }),
      { numRuns: 500 },
    );
  });

  it("agrees with a naive search with many patterns (beyond the dense states)", () => {
    fc.assert(
      fc.property(
        // ≥150 patterns of 8-20 letters: several thousand trie states, past the dense rows.
        fc.array(fc.string({ unit: fc.constantFrom("a", "b", "c"), minLength: 8, maxLength: 20 }), { minLength: 150, maxLength: 300 }),
        fc.string({ unit: fc.constantFrom("a", "b", "c"), maxLength: 200 }),
        (patterns, noise) => {
          // Whole and truncated patterns glued with noise, so deep states and failure links run.
          const text =
            noise +
            patterns
              .filter((_, i) => i % 7 === 0)
              .map((p, i) => (i % 2 === 0 ? p : p.slice(0, -1)))
              .join(noise.slice(0, 3));
          expect(new SubstringSet(patterns).findInString(text)).toEqual(naive(patterns, text));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("agrees with a naive search past the ASCII rows (8,192 states) and past 16-bit state ids", () => {
    // Deterministic pseudo-random patterns over a small alphabet with a non-ASCII letter, so that
    // the text walks states with ASCII rows, states without, and multi-byte steps in both.
    let seed = 7;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
    const letters = ["a", "b", "c", "d", "é"];
    const word = (min: number, max: number) =>
      Array.from({ length: min + Math.floor(next() * (max - min)) }, () => letters[Math.floor(next() * letters.length)]).join("");
    for (const count of [900, 4000]) {
      const patterns = Array.from({ length: count }, () => word(12, 30));
      const set = new SubstringSet(patterns);
      const text = patterns
        .filter((_, i) => i % 5 === 0)
        .map((p, i) => (i % 2 === 0 ? p : p.slice(0, -2)) + word(0, 4))
        .join("");
      expect(set.findInString(text)).toEqual(naive(patterns, text));
      expect(set.findInBytes(Buffer.from(text))).toEqual(naive(patterns, text));
    }
  });
});
