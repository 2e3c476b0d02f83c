import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const appDir = join(dirname(__filename), '..');

// The README's first command runs this; it must go through bootstrap, DTLS registration, DM and
// notifications on a machine with nothing else running.
test('pnpm demo bootstraps, registers over DTLS, reads, writes, executes and observes', async () => {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--conditions=@lwm2m/source', 'src/main.ts'],
    {
      cwd: appDir,
      env: { ...process.env, DEMO_SECONDS: '3', LOG_LEVEL: 'silent' },
      timeout: 30_000,
    },
  );
  expect(stdout).toMatch(
    /bootstrap finished demo-device: GET \/, DELETE \/0, DELETE \/1, PUT \/0\/\d+, PUT \/1\/\d+, POST \/bs/,
  );
  expect(stdout).toMatch(/demo-device registered over coaps \(PSK identity demo-device\), LwM2M 1\.1/);
  expect(stdout).toMatch(/\/3\/0\/0 Manufacturer = "@lwm2m"/);
  expect(stdout).toMatch(/read back: \/3\/0\/14 UTC Offset = "\+01:00"/);
  expect(stdout).toMatch(/executed \/3303\/0\/5605/);
  expect(stdout.match(/notification \/3303\/0\/5700 Sensor Value = -?\d/g)?.length).toBeGreaterThanOrEqual(3);
  expect(stdout).toMatch(/demo-device deregistered/);
}, 40_000);
