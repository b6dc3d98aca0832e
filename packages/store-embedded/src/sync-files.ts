import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Flushes every file under `directory` (and the directories themselves) to the disk. PGlite's file
 * layer writes to the operating system but never calls fsync: what it wrote survives the process
 * being killed, not a power cut, until this has run. Asynchronous (libuv's threads), so the event
 * loop goes on meanwhile.
 */
export async function syncFiles(directory: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) await syncFiles(path);
    else if (entry.isFile()) await syncOne(path, false);
  }
  // The directory's entries: files created or removed since the last sync (new segments, partitions).
  await syncOne(directory, true);
}

async function syncOne(path: string, directory: boolean): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    // Removed meanwhile (a recycled WAL segment, a dropped partition): nothing to flush.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    // Some systems (Windows) refuse to sync a directory: its files are synced all the same.
    if (!directory) throw error;
  } finally {
    await handle.close();
  }
}
