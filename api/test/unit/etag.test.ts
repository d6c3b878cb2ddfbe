import assert from "node:assert/strict";
import { describe, it } from "node:test";
import express from "express";
import fc from "fast-check";
import { weakETag } from "../../src/etag.ts";

/** What Express computes for the "etag" setting's default ("weak"), taken from an app left as it is. */
const expressETag = express().get("etag fn") as (body: string | Buffer, encoding?: BufferEncoding) => string;

describe("weakETag", () => {
  it("is Express's default ETag for any body, including an empty one", () => {
    assert.equal(weakETag(Buffer.alloc(0)), expressETag(Buffer.alloc(0)));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        const body = Buffer.from(bytes);
        assert.equal(weakETag(body), expressETag(body));
      }),
    );
  });

  it("is Express's default ETag for a string body in its encoding", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 300 }),
        fc.constantFrom("utf8", "latin1"),
        (text, encoding) => {
          assert.equal(weakETag(text, encoding), expressETag(text, encoding));
        },
      ),
    );
  });

  it("is the ETag Express sends for a JSON body", () => {
    assert.equal(weakETag(Buffer.from('{"status":"ok"}')), 'W/"f-VaSQ4oDUiZblZNAEkkN+sX+q3Sg"');
  });
});
