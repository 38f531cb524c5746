import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { FerryError } from '../core/errors.js';
import { ConfigFileError, loadConfigFile } from '../runtime/config-file.js';
import { assertSecureTransport, parseServerAddress } from '../runtime/tls/address.js';

/**
 * Where the client finds its helper and keeps its state.
 *
 * Home: `--home DIR`, else `FERRY_HOME`, else `./.ferry` when it holds a
 * client.json (what `ferry grid` writes, so `npm start` + `npx ferry put`
 * work from the same directory without flags).
 * Helper: `--helper URL` / `--token T` (or `FERRY_TOKEN`) over HOME/client.json.
 * State: `--state-dir`, else `FERRY_STATE_DIR`, else HOME/client-state, else
 * `$XDG_STATE_HOME/ferry` (default `~/.local/state/ferry`).
 */
export const CLIENT_FILE = 'client.json';
export const DEFAULT_HOME = '.ferry';

export const ClientFile = z.object({
  /** `http://127.0.0.1:3456` (loopback), `https://helper.example` (CA-signed) or `https://host:port/#spki=<pin>` (pinned). */
  helperUrl: z.url(),
  token: z.string().min(1),
  /** Allow plain http to a helper off this machine (the token and read-caps cross the network in clear). */
  allowInsecureHttp: z.boolean().optional(),
});
export type ClientFile = z.infer<typeof ClientFile>;

export interface ClientLocation {
  home?: string;
  helper?: string;
  token?: string;
  stateDir?: string;
}

export interface ClientSettings {
  home: string | undefined;
  /** As given (pin fragment included); requests go to its helperBase. */
  helperUrl: string;
  token: string;
  stateDir: string;
}

/** Reads HOME/client.json; undefined when there is none, INVALID_PARAMETERS (one line naming the file and field) when it is bad. */
export async function readClientFile(home: string): Promise<ClientFile | undefined> {
  try {
    return await loadConfigFile(path.join(home, CLIENT_FILE), { schema: ClientFile, label: 'client' });
  } catch (err) {
    if (!(err instanceof ConfigFileError)) throw err;
    if ((err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    throw new FerryError('INVALID_PARAMETERS', err.message);
  }
}

/** The home dir in use, if any (explicit, FERRY_HOME, or ./.ferry when it has a client.json). */
export async function findHome(o: ClientLocation, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<string | undefined> {
  const explicit = o.home ?? env.FERRY_HOME;
  if (explicit) return path.resolve(cwd, explicit);
  const local = path.resolve(cwd, DEFAULT_HOME);
  try {
    await fs.access(path.join(local, CLIENT_FILE));
    return local;
  } catch {
    return undefined;
  }
}

export function defaultStateDir(home: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (env.FERRY_STATE_DIR) return path.resolve(env.FERRY_STATE_DIR);
  if (home) return path.join(home, 'client-state');
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'ferry');
}

/** Resolves helper URL, token and state dir; a missing helper is a usage error (the caller maps it to exit 2). */
export async function resolveClientSettings(
  o: ClientLocation,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  /** Downloads go through the gateway, where the capability is the credential: no token needed. */
  needToken = true,
): Promise<ClientSettings> {
  const home = await findHome(o, env, cwd);
  const file = home ? await readClientFile(home) : undefined;
  if (home && (o.home ?? env.FERRY_HOME) && !file && !o.helper) {
    throw new FerryError('INVALID_PARAMETERS', `${path.join(home, CLIENT_FILE)} does not exist; run \`ferry grid --home ${home}\` once, or pass --helper URL --token T`);
  }
  const helperUrl = o.helper ?? file?.helperUrl;
  const token = o.token ?? env.FERRY_TOKEN ?? file?.token ?? (needToken ? undefined : '');
  if (!helperUrl || token === undefined) {
    throw new FerryError(
      'INVALID_PARAMETERS',
      helperUrl
        ? 'no client token: pass --token T (or set FERRY_TOKEN)'
        : 'no helper configured: pass --home DIR (a dir with client.json), set FERRY_HOME, or give --helper URL --token T; `ferry grid` writes ./.ferry/client.json',
    );
  }
  if (!z.url().safeParse(helperUrl).success || !/^https?:/.test(helperUrl)) throw new FerryError('INVALID_PARAMETERS', `helper URL must be http(s)://..., got ${JSON.stringify(helperUrl)}`);
  const allowInsecureHttp = file?.allowInsecureHttp === true || env.FERRY_ALLOW_INSECURE_HTTP === '1';
  assertSecureTransport(parseServerAddress(helperUrl, 'helper URL'), { what: 'the helper', allowInsecureHttp, setting: '"allowInsecureHttp": true in client.json (or FERRY_ALLOW_INSECURE_HTTP=1)' });
  return { home, helperUrl, token, stateDir: o.stateDir ? path.resolve(cwd, o.stateDir) : defaultStateDir(home, env) };
}
