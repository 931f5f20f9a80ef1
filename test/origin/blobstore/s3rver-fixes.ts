import type S3rver from "s3rver";
export function sortS3rverListings(_server: S3rver): void {}
