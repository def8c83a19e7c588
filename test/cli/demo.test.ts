/** The README's first command: the demo runs end to end against its embedded endpoint. */
import { runCli, testEnv } from '../helpers/cli.js';

test('ecrx demo pushes and pulls a real image through the embedded ecrx serve', async () => {
  const env = testEnv();
  delete env.AWS_ACCESS_KEY_ID;
  delete env.AWS_SECRET_ACCESS_KEY;
  env.HOME = '/nonexistent-ecrx-demo-home';
  const res = await runCli(['demo'], { env });
  expect(res.stderr).toContain('using placeholder credentials for the local endpoint');
  expect(res).toExitWith(0);
  const digest = /Same digest both ways: (sha256:[0-9a-f]{64})/.exec(res.stdout)?.[1];
  expect(digest).toBeDefined();
  expect(res.stdout).toContain(`Pushed oci-layout`);
  expect(res.stdout).toMatch(
    new RegExp(`Pulled demo/app:1.0 ${digest} \\(linux/amd64\\) .* \\[oci\\]: 4 blobs, 4 downloaded`),
  );
  expect(res.stdout).toMatch(/\[docker-archive\]: 4 blobs, 0 downloaded \(0 B\), 4 cached/);
  expect(res.stdout).toMatch(/^1\.0\s+sha256:[0-9a-f]{12}/m);
  expect(res.stdout).toContain('rootfs/etc/motd: Built by the ecrx demo.');
  expect(res.stdout).toContain('rootfs/srv/latest -> data.bin');
});
