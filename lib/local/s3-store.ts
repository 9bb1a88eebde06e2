/**
 * Where the local S3 keeps objects: `<dataDir>/s3/<bucket>/`, one data file and one sidecar
 * (`<sha256 of the key>.json`: the key, size, ETag, Content-Type, user metadata, …) per object.
 * File names come from a hash of the key, never from the key itself, so keys of any characters
 * (`/`, `..`, spaces, unicode, 1024 bytes) are stored safely. Uploads are written to
 * `<dataDir>/s3/.tmp/` first and renamed into place only once they passed every check; the
 * sidecar's rename is the commit, so a reader sees the old object or the new one, never a mix.
 * Everything survives a restart (the index is read back from the sidecars).
 */
import { createHash, randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface StoredObject {
  key: string;
  size: number;
  /** MD5 of the bytes, hex, without quotes. */
  etag: string;
  /** ISO 8601, whole seconds (S3's precision). */
  lastModified: string;
  contentType: string;
  /** Cache-Control, Content-Disposition, Content-Encoding, Content-Language, Expires (lower-case names). */
  headers: Record<string, string>;
  /** x-amz-meta-* without the prefix, lower-case names. */
  metadata: Record<string, string>;
  /** Checksums the uploader supplied and S3 verified, e.g. `{ CRC32: "base64" }`. */
  checksums: Record<string, string>;
  /** The data file, inside the bucket's directory. */
  file: string;
}

export type NewObject = Omit<StoredObject, 'file' | 'lastModified'>;

/** S3 lists keys in UTF-8 byte order. */
export const compareKeys = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

const keyHash = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

export class ObjectStore {
  private readonly buckets = new Map<string, Map<string, StoredObject>>();
  /** Commits run one at a time, so the index and the sidecars agree. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly root: string) {}

  /** Opens (creating) `<dataDir>/s3`, reads every bucket's sidecars and creates the `buckets` given. */
  static async open(dataDir: string, buckets: string[]): Promise<ObjectStore> {
    const store = new ObjectStore(join(dataDir, 's3'));
    await mkdir(store.root, { recursive: true });
    await rm(store.tempDir, { recursive: true, force: true });
    await mkdir(store.tempDir, { recursive: true });
    for (const entry of await readdir(store.root, { withFileTypes: true })) {
      if (entry.isDirectory() && !entry.name.startsWith('.')) await store.load(entry.name);
    }
    for (const bucket of buckets) await store.createBucket(bucket);
    return store;
  }

  private get tempDir(): string {
    return join(this.root, '.tmp');
  }

  private bucketDir(bucket: string): string {
    return join(this.root, bucket);
  }

  private async load(bucket: string): Promise<void> {
    const objects = new Map<string, StoredObject>();
    const dir = this.bucketDir(bucket);
    const names = await readdir(dir);
    for (const name of names.filter((file) => file.endsWith('.json'))) {
      let object: StoredObject;
      try {
        object = JSON.parse(await readFile(join(dir, name), 'utf8')) as StoredObject;
      } catch {
        // Not a sidecar of ours (or damaged by hand): the object is not there.
        continue;
      }
      if (typeof object.key === 'string' && typeof object.file === 'string') objects.set(object.key, object);
    }
    // Data files no sidecar refers to are left over from an interrupted overwrite.
    const referenced = new Set([...objects.values()].map((object) => object.file));
    for (const name of names) if (!name.endsWith('.json') && !referenced.has(name)) await rm(join(dir, name), { force: true });
    this.buckets.set(bucket, objects);
  }

  hasBucket(bucket: string): boolean {
    return this.buckets.has(bucket);
  }

  /** True when it was created, false when it existed. */
  async createBucket(bucket: string): Promise<boolean> {
    if (this.buckets.has(bucket)) return false;
    await mkdir(this.bucketDir(bucket), { recursive: true });
    this.buckets.set(bucket, new Map());
    return true;
  }

  bucketNames(): string[] {
    return [...this.buckets.keys()].sort();
  }

  /** Removes an empty bucket. */
  async deleteBucket(bucket: string): Promise<void> {
    await rm(this.bucketDir(bucket), { recursive: true, force: true });
    this.buckets.delete(bucket);
  }

  get(bucket: string, key: string): StoredObject | undefined {
    return this.buckets.get(bucket)?.get(key);
  }

  /** The bucket's objects in key order. */
  list(bucket: string): StoredObject[] {
    return [...(this.buckets.get(bucket)?.values() ?? [])].sort((a, b) => compareKeys(a.key, b.key));
  }

  /** The path of an object's bytes. */
  dataPath(bucket: string, object: StoredObject): string {
    return join(this.bucketDir(bucket), object.file);
  }

  /** A fresh path to stream an upload to; `discard` it unless it is committed. */
  tempPath(): string {
    return join(this.tempDir, randomUUID());
  }

  async discard(tempPath: string): Promise<void> {
    await rm(tempPath, { force: true });
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Moves a checked upload into place as `bucket/key`, replacing any object there. */
  commit(bucket: string, tempPath: string, object: NewObject): Promise<StoredObject> {
    return this.serialized(async () => {
      const objects = this.buckets.get(bucket);
      if (!objects) throw new Error(`no bucket ${bucket}`);
      const hash = keyHash(object.key);
      const stored: StoredObject = {
        ...object,
        lastModified: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString(),
        file: `${hash}-${randomUUID()}`,
      };
      const dir = this.bucketDir(bucket);
      await rename(tempPath, join(dir, stored.file));
      const sidecarTemp = this.tempPath();
      await writeFile(sidecarTemp, JSON.stringify(stored));
      await rename(sidecarTemp, join(dir, `${hash}.json`));
      const previous = objects.get(object.key);
      objects.set(object.key, stored);
      if (previous) await rm(join(dir, previous.file), { force: true });
      return stored;
    });
  }

  /** Copies an object's bytes to a temp path (for CopyObject, then `commit`). */
  async copyToTemp(bucket: string, object: StoredObject): Promise<string> {
    const temp = this.tempPath();
    await copyFile(this.dataPath(bucket, object), temp);
    return temp;
  }

  /** Deletes `bucket/key`; no error when it does not exist. */
  delete(bucket: string, key: string): Promise<void> {
    return this.serialized(async () => {
      const objects = this.buckets.get(bucket);
      const object = objects?.get(key);
      if (!objects || !object) return;
      const dir = this.bucketDir(bucket);
      await unlink(join(dir, `${keyHash(key)}.json`));
      objects.delete(key);
      await rm(join(dir, object.file), { force: true });
    });
  }

  /** Waits for pending commits and deletes. */
  async idle(): Promise<void> {
    await this.queue;
  }
}
