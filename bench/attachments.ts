/**
 * Attachments: how long a 2 MB phone photo takes from the upload intent to READY (the intent,
 * the presigned POST to the local S3, its notification through the attachments queue, the
 * processor re-encoding it and making the thumbnail, and `chat-attachment-updated` reaching the
 * uploader's app: the SDK's `uploadAttachment` and its `attachment` event), p50/p90 over `runs` uploads one after the other; and the memory the
 * processing takes. sharp's (libvips') memory is native, outside the V8 heap, so the figure that
 * counts is the process's RSS: sampled every 5 ms while the uploads run (the processor runs in
 * this process, as the runtime's handlers do), against the RSS before the first one.
 */
import sharp from 'sharp';
import type { FetchLike } from '../sdk/src/index.ts';
import { customerToken, startConversation } from './fixtures.ts';
import type { BenchContext } from './phases.ts';
import { BenchClient } from './sdk-client.ts';
import { round, roundSummary, summarize, type Summary } from './stats.ts';

/** A summary with the 90th percentile too (nearest rank). */
type Latency = Summary & { p90: number };
function latency(samples: readonly number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const p90 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(0.9 * sorted.length) - 1)]! : Number.NaN;
  return { ...roundSummary(summarize(samples)), p90: round(p90) };
}
const MB = 1024 * 1024;

export interface AttachmentFigures {
  runs: number;
  photo: { bytes: number; width: number; height: number };
  errors: number;
  /** Intent → READY heard on the uploader's WebSocket, ms. */
  readyMs: Latency;
  /** Of which: the intent's answer, and the upload's (the POST to the bucket). */
  intentMs: Latency;
  uploadMs: Latency;
  memory: {
    rssBeforeMiB: number;
    rssPeakMiB: number;
    /** The peak over the RSS before: what processing 2 MB photos adds, at most. */
    rssIncreaseMiB: number;
    heapUsedPeakMiB: number;
    externalPeakMiB: number;
  };
}

/** A phone photo of about 2 MB: 12 MP-like noise compresses as little as a detailed scene. */
async function twoMegabytePhoto(): Promise<Buffer> {
  const width = 2400;
  const height = 1800;
  const raw = Buffer.alloc(width * height * 3);
  let seed = 42;
  for (let i = 0; i < raw.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    // Smooth gradients with some noise: between a flat wall and pure noise, as photos are.
    const x = Math.floor(i / 3) % width;
    raw[i] = ((x >> 2) + (seed >> 24)) & 0xff;
  }
  let quality = 50;
  for (;;) {
    const photo = await sharp(raw, { raw: { width, height, channels: 3 } })
      .jpeg({ quality })
      .withExif({ IFD0: { Make: 'PhoneCam' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 8/1 2/1' } })
      .toBuffer();
    if (photo.byteLength >= 1.9 * MB || quality >= 100) return photo;
    quality += 4;
  }
}

export async function attachments(context: BenchContext, { runs }: { runs: number }): Promise<AttachmentFigures> {
  const { runtime } = context;
  const party = context.ids.party();
  const conversationId = await startConversation(runtime.httpUrl, runtime.issuer, party);
  const token = customerToken(runtime.issuer, party.customerId);
  const photo = await twoMegabytePhoto();
  const { width, height } = await sharp(photo).metadata();

  // The SDK's fetch, wrapped to note when the upload's POST to storage starts (the intent's end).
  let uploadStarted = 0;
  const timed: FetchLike = (url, init) => {
    if (!url.startsWith(runtime.httpUrl)) uploadStarted = performance.now();
    return globalThis.fetch(url, init);
  };
  const client = await BenchClient.open({ httpUrl: runtime.httpUrl, wsUrl: runtime.wsUrl, token, fetch: timed });
  const ready = new Map<string, (status: string) => void>();
  const processed = new Map<string, string>();
  client.chat.on('attachment', ({ attachment }) => {
    if (attachment.status === 'PENDING') return;
    processed.set(attachment.id, attachment.status);
    ready.get(attachment.id)?.(attachment.status);
  });

  const memory = { rssBefore: 0, rssPeak: 0, heapPeak: 0, externalPeak: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    memory.rssPeak = Math.max(memory.rssPeak, usage.rss);
    memory.heapPeak = Math.max(memory.heapPeak, usage.heapUsed);
    memory.externalPeak = Math.max(memory.externalPeak, usage.external + usage.arrayBuffers);
  };

  const readyMs: number[] = [];
  const intentMs: number[] = [];
  const uploadMs: number[] = [];
  let errors = 0;
  const once = async () => {
    const began = performance.now();
    const attachment = await client.chat.uploadAttachment(conversationId, new Blob([photo], { type: 'image/jpeg' }), { fileName: 'IMG_2048.jpg', contentType: 'image/jpeg' });
    const stored = performance.now();
    const intended = uploadStarted;
    const heard = new Promise<string>((resolve) => {
      const known = processed.get(attachment.id);
      if (known) resolve(known);
      else ready.set(attachment.id, resolve);
    });
    const status = await Promise.race([heard, new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
    ready.delete(attachment.id);
    processed.delete(attachment.id);
    if (status !== 'READY') throw new Error(`the photo ended ${status}`);
    intentMs.push(intended - began);
    uploadMs.push(stored - intended);
    readyMs.push(performance.now() - began);
  };

  try {
    // One not recorded: the processor's first run loads sharp and the S3 client.
    await once();
    global.gc?.();
    memory.rssBefore = process.memoryUsage().rss;
    const sampler = setInterval(sample, 5);
    try {
      for (let run = 0; run < runs; run++) {
        try {
          await once();
        } catch (error) {
          errors += 1;
          context.progress(`attachment run ${run + 1} failed: ${String(error)}`);
        }
        sample();
      }
    } finally {
      clearInterval(sampler);
    }
  } finally {
    await client.close();
  }

  const mib = (bytes: number) => round(bytes / MB, 1);
  const figures: AttachmentFigures = {
    runs,
    photo: { bytes: photo.byteLength, width: width!, height: height! },
    errors,
    readyMs: latency(readyMs),
    intentMs: latency(intentMs),
    uploadMs: latency(uploadMs),
    memory: {
      rssBeforeMiB: mib(memory.rssBefore),
      rssPeakMiB: mib(memory.rssPeak),
      rssIncreaseMiB: mib(Math.max(0, memory.rssPeak - memory.rssBefore)),
      heapUsedPeakMiB: mib(memory.heapPeak),
      externalPeakMiB: mib(memory.externalPeak),
    },
  };
  context.progress(
    `attachments: ${runs} × ${mib(photo.byteLength)} MiB photo (${width}x${height}): intent → READY p50 ${figures.readyMs.p50} ms, p90 ${figures.readyMs.p90} ms ` +
      `(upload p50 ${figures.uploadMs.p50} ms); RSS ${figures.memory.rssBeforeMiB} → peak ${figures.memory.rssPeakMiB} MiB (+${figures.memory.rssIncreaseMiB}), heap peak ${figures.memory.heapUsedPeakMiB} MiB`,
  );
  return figures;
}
