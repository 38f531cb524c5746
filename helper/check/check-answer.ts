/** The three answers to a check (docs/protocol.md, "The check"). */
export type CheckAnswer =
  | {
      status: 'have-it';
      storageIndex: string;
      /** base64 UEB and its hex hash: the client verifies them before trusting the answer. */
      ueb: string;
      uebHash: string;
      shareMap: Record<string, string[]>;
      happiness: number;
    }
  | {
      status: 'send';
      storageIndex: string;
      /** tus upload URL, relative to the helper's base URL. */
      uploadPath: string;
      /** Bytes already received and verified (tus Upload-Offset). */
      offset: number;
      /** Half-open byte ranges still needed. */
      missing: [number, number][];
      segmentSize: number;
    }
  | {
      status: 'in-progress';
      storageIndex: string;
      state: string;
      statusPath: string;
      lastError?: string;
    };

export const UPLOADS_PATH = '/helper/v1/uploads';
export const JOBS_PATH = '/helper/v1/jobs';
