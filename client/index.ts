/** The Ferry client library. */
export { upload, type UploadOptions, type UploadProgress, type UploadPhase, type UploadResult } from './upload.js';
export type { UploadInput } from './upload-input.js';
export { download, type DownloadOptions, type DownloadProgress, type DownloadResult } from './download.js';
export { checkFile, repairFile, verifyCapFor, type CheckOptions, type CheckReport, type RepairOptions, type RepairOutcome, type RepairProgress, type RepairResult, type RepairStarted } from './check.js';
export { resolveClientSettings, type ClientSettings, type ClientLocation } from './config.js';
export { Journal, type TransferRecord, type TransferState } from './journal.js';
export { HelperError } from './http.js';
export type { RetryPolicy } from './retry.js';
