#!/usr/bin/env node
/**
 * A small TCP shaper for the link benchmark: listens on a loopback port and forwards every connection to a target,
 * each direction through a modelled link. Both ecrx (against `ecrx serve`) and skopeo (against docker-registry) go
 * through it, so both tools see the same link.
 *
 * The model, per direction of each connection: a chunk is serialised at the connection's rate (and, if given, at
 * a total rate shared by all connections), then arrives one-way delay (RTT/2) later. Chunks keep their order: each
 * direction is one queue with one timer, not a timer per chunk or byte. The reader is paused while more than a
 * bandwidth-delay product (plus 1 MiB) is queued, so memory stays bounded and backpressure reaches the sender.
 *
 * As a program (what the benchmark uses, so shaping does not share an event loop with what is measured):
 *   node bench/shaper.mjs --target 127.0.0.1:5000 --rtt 40 --rate 100MB/s [--total 1GB/s] [--port 0]
 * prints {"port":N} once listening; on stdin, the line `stats` answers {"up":B,"down":B,"connections":N}
 * (bytes delivered client->target and target->client since start or the last `reset`), `reset` zeroes them.
 */
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const UNITS = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3 };

/** '100MB/s', '50MiB/s', '12345' (bytes per second); 0 or undefined means unlimited. */
export function parseRate(text) {
  if (text === undefined || text === '' || text === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?(?:\/s)?$/i.exec(String(text));
  if (!m) throw new Error(`shaper: cannot read the rate '${text}' (e.g. 100MB/s)`);
  return Number(m[1]) * UNITS[(m[2] ?? 'B').toUpperCase()];
}

/** A shared pipe for the optional total rate: each chunk books the next free slot on it. */
class Serialiser {
  next = 0;
  constructor(rate) {
    this.rate = rate;
  }
  /** When a chunk of `bytes` that is ready at `ready` (ms) has left the pipe. */
  book(ready, bytes) {
    if (!this.rate) return ready;
    this.next = Math.max(ready, this.next) + (bytes / this.rate) * 1000;
    return this.next;
  }
}

/** One direction of one connection: read from `from`, deliver to `to` after serialisation and delay. */
function pipeDirection(from, to, { oneWayMs, rate, total, onBytes }) {
  const own = new Serialiser(rate);
  const queue = []; // { chunk, due } or { end: true, due }, in order
  let head = 0;
  let queued = 0;
  let timer;
  let waitingDrain = false;
  // Room for what is in flight on the link, so the shaper itself is never the bottleneck.
  const limit = (rate ? (rate * 2 * oneWayMs) / 1000 : 4 * 1024 * 1024) + 1024 * 1024;

  const pump = () => {
    timer = undefined;
    if (waitingDrain || to.destroyed) return;
    const now = performance.now();
    while (head < queue.length && queue[head].due <= now) {
      const item = queue[head++];
      if (item.end) {
        to.end();
        continue;
      }
      queued -= item.chunk.length;
      onBytes(item.chunk.length);
      if (!to.write(item.chunk)) {
        waitingDrain = true;
        to.once('drain', () => {
          waitingDrain = false;
          pump();
        });
        break;
      }
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    if (queued < limit && from.isPaused()) from.resume();
    if (!waitingDrain && head < queue.length) {
      timer = setTimeout(pump, Math.max(0, queue[head].due - performance.now()));
    }
  };
  const enqueue = (item) => {
    queue.push(item);
    if (!timer && !waitingDrain && head === queue.length - 1) {
      timer = setTimeout(pump, Math.max(0, item.due - performance.now()));
    }
  };

  from.on('data', (chunk) => {
    const now = performance.now();
    const sent = Math.max(own.book(now, chunk.length), total.book(now, chunk.length));
    queued += chunk.length;
    enqueue({ chunk, due: sent + oneWayMs });
    if (queued >= limit) from.pause();
  });
  from.on('end', () => {
    const last = queue.length > head ? queue[queue.length - 1].due : performance.now() + oneWayMs;
    enqueue({ end: true, due: Math.max(last, performance.now() + oneWayMs) });
  });
}

/**
 * Starts a shaper; resolves with { port, stats(), reset(), close() }.
 * opts: { target: 'host:port', rttMs, rate (bytes/s per connection), total (bytes/s), port, host }
 */
export async function startShaper(opts) {
  const [targetHost, targetPort] = splitHostPort(opts.target);
  const oneWayMs = (opts.rttMs ?? 0) / 2;
  const totals = { up: new Serialiser(opts.total ?? 0), down: new Serialiser(opts.total ?? 0) };
  const counts = { up: 0, down: 0, connections: 0 };
  const sockets = new Set();
  // Half-open on both sides: a FIN travels through the link like data, after what was sent before it.
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    counts.connections++;
    const upstream = net.connect({ host: targetHost, port: targetPort, noDelay: true, allowHalfOpen: true });
    sockets.add(client);
    sockets.add(upstream);
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // A reset or a failed write on either side ends both; an orderly close ends the other side through its queue.
    client.on('error', destroyBoth).on('close', () => sockets.delete(client));
    upstream.on('error', destroyBoth).on('close', () => sockets.delete(upstream));
    const common = { oneWayMs, rate: opts.rate ?? 0 };
    pipeDirection(client, upstream, { ...common, total: totals.up, onBytes: (n) => (counts.up += n) });
    pipeDirection(upstream, client, { ...common, total: totals.down, onBytes: (n) => (counts.down += n) });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    stats: () => ({ ...counts }),
    reset: () => Object.assign(counts, { up: 0, down: 0, connections: 0 }),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function splitHostPort(hostPort) {
  const i = hostPort.lastIndexOf(':');
  if (i < 0) throw new Error(`shaper: --target must be host:port, got '${hostPort}'`);
  return [hostPort.slice(0, i).replace(/^\[|\]$/g, ''), Number(hostPort.slice(i + 1))];
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`shaper: bad argument '${argv[i]}'`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const shaper = await startShaper({
    target: args.target,
    rttMs: Number(args.rtt ?? 0),
    rate: parseRate(args.rate),
    total: parseRate(args.total),
    port: Number(args.port ?? 0),
  });
  process.stdout.write(`${JSON.stringify({ port: shaper.port })}\n`);
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === 'reset') shaper.reset();
    if (line.trim() === 'stats' || line.trim() === 'reset') process.stdout.write(`${JSON.stringify(shaper.stats())}\n`);
  });
  process.stdin.on('end', () => shaper.close().then(() => process.exit(0)));
  process.on('SIGTERM', () => shaper.close().then(() => process.exit(0)));
}
