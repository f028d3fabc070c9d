// Runs before `npm start` and `npm test` (npm's prestart / pretest), after
// scripts/deps.mjs has made sure the npm packages are installed.
//   start: validates the configuration, then builds when the build is missing or older
//          than the sources.
//   test:  installs the Debian packages the tests need when their commands are missing
//          (iproute2, iptables, chromium).
import { buildStaleness, checkConfig, nextBuild, runInherit, say, which } from "./lib.mjs";

const mode = process.argv[2];

/** Debian package for each command the tests need. */
const TEST_TOOLS = [
  { command: "ip", pkg: "iproute2" },
  { command: "iptables", pkg: "iptables" },
  { command: "iptables-save", pkg: "iptables" },
  { command: "unshare", pkg: "util-linux" },
  { command: "chromium", pkg: "chromium" },
];

async function installTestTools() {
  const missing = [...new Set(TEST_TOOLS.filter((t) => !which(t.command)).map((t) => t.pkg))];
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`nslab: the tests need these Debian packages: ${missing.join(" ")}`);
    console.error(`nslab: install them as root (apt-get install -y ${missing.join(" ")}) and run npm test again.`);
    process.exit(1);
  }
  if (!which("apt-get")) {
    console.error(`nslab: missing ${missing.join(" ")} and no apt-get to install them with; install them and run npm test again.`);
    process.exit(1);
  }
  say(`installing Debian packages: ${missing.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  if ((await runInherit(["apt-get", "update"], { env })) !== 0) {
    console.error("nslab: apt-get update failed");
    process.exit(1);
  }
  if ((await runInherit(["apt-get", "install", "-y", ...missing], { env })) !== 0) {
    console.error(`nslab: apt-get install ${missing.join(" ")} failed`);
    process.exit(1);
  }
}

async function ensureBuild() {
  const why = buildStaleness();
  if (!why) return;
  say(`building the console (${why})`);
  const code = await nextBuild();
  if (code !== 0) {
    console.error(`nslab: next build failed (exit ${code})`);
    process.exit(code);
  }
}

if (mode === "start") {
  await checkConfig();
  await ensureBuild();
} else if (mode === "test") {
  await installTestTools();
} else {
  console.error("usage: node scripts/ensure-ready.mjs start|test");
  process.exit(2);
}
