#!/usr/bin/env node
// ort_bench.js — whole-model latency with onnxruntime-node (CPU execution provider).
//
// Usage: node tests/bench/peers/ort_bench.js [--threads T] [--min-time-ms MS] [--min-reps N]
//                                            [--warmup W] MODEL.onnx...
// onnxruntime-node is not a dependency of this repo: install it outside the tree and point
// ORT_NODE_DIR at the folder holding its node_modules (default /tmp/peers_ort):
//   mkdir -p /tmp/peers_ort && cd /tmp/peers_ort && \
//     ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install onnxruntime-node
//
// Session: intraOpNumThreads = T, interOpNumThreads = 1, graphOptimizationLevel 'all',
// executionMode 'sequential'.  Input: uniform random float32 of each input's shape, with
// symbolic dims (the batch) set to 1.  Timing rule as dlbricks-mpi --time-model: W warm-up
// runs (default 5), then runs timed one by one until their sum is >= MS ms (default 3000)
// and there are >= N of them (default 20).  Statistics: median and p90 are type-7 quantiles
// (docs/timing.md).  Each run is one awaited session.run(); the async hop of the Node
// binding (tens of microseconds) is included in the time.
// Output, one line per model:
//   ort: NAME threads=T median_ms=X min_ms=Y p90_ms=Z reps=N version=V
'use strict';
const path = require('path');
const { createRequire } = require('module');

const ortDir = process.env.ORT_NODE_DIR || '/tmp/peers_ort';
const req = createRequire(path.join(path.resolve(ortDir), 'package.json'));
const ort = req('onnxruntime-node');
const ortVersion = req('onnxruntime-node/package.json').version;

function usage(msg) {
  if (msg) console.error('ort_bench: ' + msg);
  console.error('usage: ort_bench.js [--threads T] [--min-time-ms MS] [--min-reps N] [--warmup W] MODEL.onnx...');
  process.exit(2);
}

const opt = { threads: 1, minTimeMs: 3000, minReps: 20, warmup: 5 };
const models = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const num = () => {
    const v = Number(argv[++i]);
    if (!Number.isFinite(v) || v < 0) usage('bad value for ' + a);
    return v;
  };
  if (a === '--threads' || a === '-t') opt.threads = num();
  else if (a === '--min-time-ms') opt.minTimeMs = num();
  else if (a === '--min-reps') opt.minReps = num();
  else if (a === '--warmup') opt.warmup = num();
  else if (a === '-h' || a === '--help') usage();
  else if (a.startsWith('-')) usage('unknown option ' + a);
  else models.push(a);
}
if (models.length === 0) usage('no model');
if (!(opt.threads >= 1)) usage('--threads must be >= 1');

function quantile(sorted, p) { // Hyndman & Fan type 7
  const n = sorted.length;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  if (lo + 1 >= n) return sorted[n - 1];
  return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}

function randomTensor(meta) {
  const dims = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
  const size = dims.reduce((a, b) => a * b, 1);
  if (meta.type !== 'float32') throw new Error(`input ${meta.name}: type ${meta.type} not supported`);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = Math.random();
  return new ort.Tensor('float32', data, dims);
}

async function bench(file) {
  const name = path.basename(file, '.onnx');
  const session = await ort.InferenceSession.create(file, {
    executionProviders: ['cpu'],
    intraOpNumThreads: opt.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const feeds = {};
  for (const meta of session.inputMetadata) feeds[meta.name] = randomTensor(meta);
  for (let i = 0; i < Math.max(1, opt.warmup); i++) await session.run(feeds);
  const times = [];
  let total = 0;
  while (total < opt.minTimeMs || times.length < Math.max(1, opt.minReps)) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    times.push(ms);
    total += ms;
  }
  await session.release();
  times.sort((a, b) => a - b);
  const f = (x) => x.toFixed(4);
  console.log(`ort: ${name} threads=${opt.threads} median_ms=${f(quantile(times, 0.5))} ` +
    `min_ms=${f(times[0])} p90_ms=${f(quantile(times, 0.9))} reps=${times.length} version=${ortVersion}`);
}

(async () => {
  let rc = 0;
  for (const m of models) {
    try {
      await bench(m);
    } catch (e) {
      console.error(`ort_bench: ${m}: ${e.message}`);
      rc = 1;
    }
  }
  process.exit(rc);
})();
