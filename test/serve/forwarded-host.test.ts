/**
 * `ecrx serve` behind a TCP forwarder (the benchmark's link shaper, an SSH tunnel, a port-forward): the download URLs
 * it signs point at the host the client called, so the blob GETs go through the forwarder too, and the signature
 * covers that host as S3's does.
 */
import net from 'node:net';
import { GetDownloadUrlForLayerCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { sdk, sha256, makeImage, createRepo, pushImage } from '../helpers/ecr.js';

let serve: Serve;
let forwarder: net.Server;
let forwarded: string;
let ecr: ECRClient;
const seen: string[] = [];
/** The forwarder's client sockets: fetch keeps them alive for as long as serve's Keep-Alive hint (about a minute). */
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  serve = await startServe();
  const target = new URL(serve.endpoint);
  forwarder = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const upstream = net.connect(Number(target.port), target.hostname);
    client.on('data', (d: Buffer) => seen.push(d.toString('latin1').split('\r\n')[0]));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => forwarder.listen(0, '127.0.0.1', resolve));
  forwarded = `127.0.0.1:${(forwarder.address() as net.AddressInfo).port}`;
  ecr = sdk(`http://${forwarded}`);
});
afterAll(async () => {
  ecr?.destroy();
  // close() waits for every open connection: end the idle keep-alive ones rather than wait for them to time out.
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => forwarder?.close(resolve));
  await serve?.dispose();
});

test('download URLs are signed for the host the API was called through, and work through it', async () => {
  await createRepo(ecr, 'fwd');
  const img = makeImage([4096]);
  await pushImage(ecr, 'fwd', img, 'v1');
  const layerDigest = sha256(img.layers[0]);
  const { downloadUrl } = await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'fwd', layerDigest }));
  const url = new URL(downloadUrl!);
  expect(url.host).toBe(forwarded);

  const res = await fetch(downloadUrl!);
  expect(res.status).toBe(200);
  expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(layerDigest);
  expect(seen.some((line) => line.startsWith(`GET ${url.pathname}?`))).toBe(true);

  // The host is part of what is signed: the same URL sent straight to serve's own port is refused.
  const direct = await fetch(`${serve.endpoint}${url.pathname}${url.search}`);
  expect(direct.status).toBe(403);
  expect(await direct.text()).toContain('SignatureDoesNotMatch');
});
