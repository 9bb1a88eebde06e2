/**
 * The attachments processor's bundle, built exactly as the stateless stack builds it (a real
 * esbuild bundle plus the `npm ci` of its node modules; the other infrastructure tests skip
 * bundling), carries sharp for Lambda's platform, linux-arm64 with glibc, whatever machine bundles:
 *
 * - sharp is left out of the esbuild bundle and installed beside it, with
 *   @img/sharp-linux-arm64 and @img/sharp-libvips-linux-arm64, and no other platform's binary;
 * - the addon and libvips are AArch64 ELF shared objects, and the addon's RPATH finds the libvips
 *   it needs inside the bundle;
 * - sharp's own loader, run from the bundle as if on arm64, picks that very file;
 * - file-type and the HEIC decoder (libheif compiled to WebAssembly, embedded) are bundled, and
 *   the whole module graph loads as an ES module: a copy of the bundle, with this machine's sharp
 *   binary put in place of the arm64 one, imports and answers S3's test notification.
 *
 * Why not run it: this machine (x86-64) has no qemu-aarch64 (user-mode emulation) and no arm64
 * Node.js to run under it, so the last step ends where the x86-64 dynamic loader refuses an
 * AArch64 object (ERR_DLOPEN_FAILED on the bundle's `.node` file). On an arm64 Linux machine the
 * same test loads sharp from the bundle and makes an image with it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatFunction, PROJECT_ROOT } from '#lib/constructs/chat-function';
import { ENTRY_MEMORY_MB, ENTRY_NODE_MODULES } from '#lib/stacks/stateless-stack';

const ENTRY = 'queue/process-attachments';
const EM_AARCH64 = 183;

let outdir: string;
let bundle: string;

beforeAll(async () => {
  outdir = await mkdtemp(path.join(tmpdir(), 'chat-processor-bundle-'));
  const app = new App({ outdir, context: process.env.CHAT_TEST_VERBOSE ? {} : { bundlingLogLevel: 'error' } });
  const stack = new Stack(app, 'ProcessorBundle', { env: { account: '123456789012', region: 'us-east-1' } });
  const processor = new ChatFunction(stack, 'Processor', {
    entry: ENTRY,
    memorySize: ENTRY_MEMORY_MB[ENTRY]!,
    serviceName: 'provider-customer-chat',
    metricsNamespace: 'ProviderCustomerChat',
    logRetention: logs.RetentionDays.ONE_DAY,
    nodeModules: [...ENTRY_NODE_MODULES[ENTRY]!],
  });
  app.synth();
  bundle = path.join(outdir, (processor.function.node.findChild('Code') as Asset).assetPath);
}, 300_000);

afterAll(() => rm(outdir, { recursive: true, force: true }));

/** The ELF header's class, byte order and machine of a file. */
function elfHeader(file: string): { magic: string; class64: boolean; littleEndian: boolean; machine: number } {
  const bytes = readFileSync(file);
  return { magic: bytes.subarray(0, 4).toString('latin1'), class64: bytes[4] === 2, littleEndian: bytes[5] === 1, machine: bytes.readUInt16LE(18) };
}

/** DT_NEEDED and DT_RPATH/DT_RUNPATH of an ELF64 little-endian shared object. */
function dynamicEntries(file: string): { needed: string[]; rpath: string[] } {
  const bytes = readFileSync(file);
  const sectionHeaders = Number(bytes.readBigUInt64LE(0x28));
  const sectionHeaderSize = bytes.readUInt16LE(0x3a);
  const sectionCount = bytes.readUInt16LE(0x3c);
  const sections = Array.from({ length: sectionCount }, (_, index) => {
    const at = sectionHeaders + index * sectionHeaderSize;
    return { type: bytes.readUInt32LE(at + 4), offset: Number(bytes.readBigUInt64LE(at + 0x18)), size: Number(bytes.readBigUInt64LE(at + 0x20)), link: bytes.readUInt32LE(at + 0x28) };
  });
  const dynamic = sections.find((section) => section.type === 6)!; // SHT_DYNAMIC
  const strings = sections[dynamic.link]!;
  const text = (offset: number) => {
    const start = strings.offset + offset;
    return bytes.subarray(start, bytes.indexOf(0, start)).toString('utf8');
  };
  const needed: string[] = [];
  const rpath: string[] = [];
  for (let at = dynamic.offset; at < dynamic.offset + dynamic.size; at += 16) {
    const tag = Number(bytes.readBigInt64LE(at));
    const value = Number(bytes.readBigUInt64LE(at + 8));
    if (tag === 0) break;
    if (tag === 1) needed.push(text(value));
    if (tag === 15 || tag === 29) rpath.push(...text(value).split(':'));
  }
  return { needed, rpath };
}

const modules = () => path.join(bundle, 'node_modules');
const addonDir = () => path.join(modules(), '@img', 'sharp-linux-arm64', 'lib');
const addon = () => {
  const files = readdirSync(addonDir()).filter((name) => name.endsWith('.node'));
  expect(files).toHaveLength(1);
  return path.join(addonDir(), files[0]!);
};

describe(`the ${ENTRY} bundle`, () => {
  it('leaves sharp to node_modules (a native addon esbuild cannot bundle) and installs it at the locked version', () => {
    const code = readFileSync(path.join(bundle, 'index.mjs'), 'utf8');
    expect(code).toMatch(/from\s*"sharp"|import\(\s*"sharp"\s*\)/);
    const locked = (JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, { version: string }> }).packages;
    const installed = JSON.parse(readFileSync(path.join(modules(), 'sharp', 'package.json'), 'utf8')) as { version: string };
    expect(installed.version).toBe(locked['node_modules/sharp']!.version);
  });

  it("holds sharp's linux-arm64 (glibc) packages and no other platform's", () => {
    const img = readdirSync(path.join(modules(), '@img')).filter((name) => name.startsWith('sharp-'));
    expect(img.sort()).toEqual(['sharp-libvips-linux-arm64', 'sharp-linux-arm64']);
  });

  it('has an AArch64 addon whose RPATH finds the AArch64 libvips it needs inside the bundle', () => {
    const file = addon();
    expect(elfHeader(file)).toEqual({ magic: '\x7fELF', class64: true, littleEndian: true, machine: EM_AARCH64 });
    const { needed, rpath } = dynamicEntries(file);
    const libvips = needed.find((name) => name.startsWith('libvips-cpp.so'));
    expect(libvips).toBeDefined();
    const found = rpath.map((entry) => path.join(entry.replace('$ORIGIN', path.dirname(file)), libvips!)).filter((candidate) => existsSync(candidate));
    expect(found).toEqual([path.join(modules(), '@img', 'sharp-libvips-linux-arm64', 'lib', libvips!)]);
    expect(elfHeader(found[0]!).machine).toBe(EM_AARCH64);
  });

  it("is what sharp's own loader picks from the bundle on linux-arm64", () => {
    // In a child process, sharp's loader (node_modules/sharp) runs from the bundle with
    // process.arch reporting arm64, as in Lambda. It must go for the bundle's AArch64 addon.
    const script = `
      const onArm64 = process.arch === 'arm64' && process.platform === 'linux';
      if (!onArm64) Object.defineProperty(process, 'arch', { value: 'arm64' });
      try {
        const sharp = require(${JSON.stringify(path.join(modules(), 'sharp'))});
        sharp({ create: { width: 4, height: 4, channels: 3, background: '#336699' } }).png().toBuffer()
          .then((png) => console.log(JSON.stringify({ loaded: true, onArm64, pngBytes: png.length })));
      } catch (error) {
        console.log(JSON.stringify({ loaded: false, onArm64, message: String(error.message) }));
      }`;
    const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim()) as { loaded: boolean; onArm64: boolean; message?: string; pngBytes?: number };
    if (result.onArm64) {
      expect(result).toMatchObject({ loaded: true });
      expect(result.pngBytes).toBeGreaterThan(0);
      return;
    }
    // Found and handed to the dynamic loader, which refuses it only because this host is not AArch64.
    expect(result.loaded).toBe(false);
    expect(result.message).toContain('using the linux-arm64 runtime');
    expect(result.message).toContain(`ERR_DLOPEN_FAILED: ${addon()}`);
    expect(result.message).not.toContain('Cannot find module');
  });

  it('bundles file-type and the HEIC decoder with its WebAssembly, so nothing else needs installing', () => {
    const code = readFileSync(path.join(bundle, 'index.mjs'), 'utf8');
    expect(readdirSync(modules()).filter((name) => !name.startsWith('.')).sort()).toEqual(['@img', 'detect-libc', 'semver', 'sharp']);
    expect(code).not.toMatch(/from\s*"(heic-decode|libheif-js[^"]*|file-type)"/);
    // libheif's WebAssembly travels inside the JavaScript (base64), not as a file beside it.
    expect(readdirSync(bundle).filter((name) => name.endsWith('.wasm') && name.includes('heif'))).toEqual([]);
    expect(code).toContain('libheif');
  });

  it("loads whole as an ES module and answers S3's test notification (with this machine's sharp binary in a copy)", async () => {
    const copy = await mkdtemp(path.join(tmpdir(), 'chat-processor-copy-'));
    try {
      await cp(bundle, copy, { recursive: true });
      const host = `${process.platform}-${process.arch}`;
      for (const name of [`sharp-${host}`, `sharp-libvips-${host}`]) {
        await cp(path.join(PROJECT_ROOT, 'node_modules', '@img', name), path.join(copy, 'node_modules', '@img', name), { recursive: true });
      }
      const script = `
        process.env.POWERTOOLS_METRICS_DISABLED = 'true';
        process.env.AWS_REGION = 'us-east-1';
        const { handler } = await import(${JSON.stringify(new URL(`file://${path.join(copy, 'index.mjs')}`).href)});
        const body = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-12-03T00:00:00.000Z', Bucket: 'b', RequestId: 'r', HostId: 'h' });
        const event = { Records: [{ messageId: 'm1', receiptHandle: 'r', body, attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q', awsRegion: 'us-east-1' }] };
        const context = { functionName: 'processor', awsRequestId: 'request', getRemainingTimeInMillis: () => 60000 };
        console.log(JSON.stringify(await handler(event, context)));`;
      const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' } });
      expect(JSON.parse(output.trim().split('\n').pop()!)).toEqual({ batchItemFailures: [] });
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});
