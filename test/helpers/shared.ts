// Test data from ../shared (or ROCFORGE_SHARED). Tests that need it skip with a one-line reason when absent.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SHARED_DIR = resolve(process.env.ROCFORGE_SHARED ?? join(import.meta.dirname, '..', '..', '..', 'shared'));

export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

export function hasShared(...parts: string[]): boolean {
  return existsSync(sharedPath(...parts));
}

/** Reason to skip, printed once, or undefined when the file or folder is present. */
export function missingShared(...parts: string[]): string | undefined {
  const p = sharedPath(...parts);
  if (existsSync(p)) return undefined;
  const reason = `skipped: test data ${p} not found (set ROCFORGE_SHARED)`;
  console.warn(reason);
  return reason;
}

export function sharedModels(): string[] {
  const dir = sharedPath('models');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.gguf')).sort();
}

/** Files of shared/new-archs/models (llama3 with rope_freqs, gemma2, phi3), apart from models/ so that older enumerations skip them. */
export function sharedNewArchModels(): string[] {
  const dir = sharedPath('new-archs', 'models');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.gguf')).sort();
}
