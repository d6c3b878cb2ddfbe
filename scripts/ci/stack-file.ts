/**
 * A stack's config file (`Pulumi.<stack>.yaml`) as a CI checkout has it, and as `pulumi config refresh`
 * restores it from the stack's last deployment. `npm run up` sets the secrets on the machine it runs on and
 * does not commit them, so a fresh checkout can hold the stack's plain values while its secrets, and the salt
 * that encrypts them, are only in the backend.
 */
import yaml from "js-yaml";

/** The parts of a stack file that decide where its values come from; other keys are carried as they are. */
export interface StackFile {
  readonly config?: Readonly<Record<string, unknown>>;
  /** The passphrase secrets provider's salt: present once a secret has been set in this file. */
  readonly encryptionsalt?: string;
  /** The key of a cloud secrets provider (awskms, gcpkms...), which also makes the file self-sufficient. */
  readonly encryptedkey?: string;
  readonly [key: string]: unknown;
}

export function parseStackFile(text: string, name: string): StackFile {
  const parsed: unknown = yaml.load(text);
  if (parsed === undefined || parsed === null) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error(`${name} is not a YAML mapping`);
  }
  const file = parsed as StackFile;
  if (file.config !== undefined && (typeof file.config !== "object" || Array.isArray(file.config))) {
    throw new Error(`${name}: config is not a mapping`);
  }
  return file;
}

/** True when the file carries its own secrets provider state, so its secrets decrypt without the backend. */
export const carriesItsSecrets = (file: StackFile): boolean =>
  file.encryptionsalt !== undefined || file.encryptedkey !== undefined;

/** True for a value Pulumi stores encrypted (`key: { secure: ... }`). */
const isSecure = (value: unknown): boolean =>
  typeof value === "object" && value !== null && "secure" in value;

/**
 * The config to preview or deploy: the last deployment's values and secrets provider, with the committed
 * file's plain values laid over them, so a change made in the checkout is what gets previewed. A key
 * removed from the checkout but still in the last deployment stays: it cannot be told apart from a secret
 * that was never committed.
 */
export function overlayCommitted(deployed: StackFile, committed: StackFile): StackFile {
  const secure = Object.keys(committed.config ?? {}).filter((key) => isSecure(committed.config?.[key]));
  if (secure.length > 0) {
    // Without the salt they were encrypted with, these cannot be decrypted, and the deployed salt is another.
    throw new Error(
      `the committed stack file has encrypted values (${secure.join(", ")}) but no secrets provider state (encryptionsalt); commit the file that \`pulumi config set --secret\` wrote, or neither`,
    );
  }
  return { ...deployed, config: { ...deployed.config, ...committed.config } };
}

export const formatStackFile = (file: StackFile): string => yaml.dump(file, { lineWidth: -1 });
