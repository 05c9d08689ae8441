// Audit a built story page with Lighthouse in Debian's Chromium (no browser download) and print
// the figures tests/test_lighthouse.py and bench/lighthouse.py read, as one JSON line.
//
//   node lighthouse.mjs URL mobile|desktop USER_DATA_DIR [CHROMIUM]
//
// Simulated throttling (Lighthouse's default): the page is loaded once, unthrottled, and the
// timings are computed for a slow 4G phone (or a desktop), which is far less sensitive to a busy
// machine than real throttling. Exit 0 with the report; non-zero with the reason on stderr.
import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";

const [url, formFactor, userDataDir, chromePath = "/usr/bin/chromium"] = process.argv.slice(2);
if (!url || !["mobile", "desktop"].includes(formFactor) || !userDataDir) {
  console.error("usage: node lighthouse.mjs URL mobile|desktop USER_DATA_DIR [CHROMIUM]");
  process.exit(2);
}
const FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--disable-dev-shm-usage",
  `--user-data-dir=${userDataDir}`,
];
const watchdog = setTimeout(() => {
  console.error("lighthouse.mjs: gave up after 150 s");
  process.exit(3);
}, 150_000);

const chrome = await chromeLauncher.launch({
  chromePath,
  chromeFlags: FLAGS,
  userDataDir: false, // given in FLAGS: chrome-launcher would make its own temp folder
  logLevel: "silent",
});
try {
  const config = formFactor === "desktop" ? desktopConfig : undefined;
  const result = await lighthouse(
    url,
    {
      port: chrome.port,
      output: "json",
      logLevel: "error",
      onlyCategories: ["performance", "accessibility", "seo"],
    },
    config,
  );
  const lhr = result.lhr;
  if (process.env.LIGHTHOUSE_JSON) {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(process.env.LIGHTHOUSE_JSON, result.report);
  }
  const audit = (id) => lhr.audits[id] ?? {};
  const failing = (category) =>
    lhr.categories[category].auditRefs
      .filter((ref) => ref.weight > 0 && audit(ref.id).score !== null && audit(ref.id).score < 1)
      .map((ref) => ref.id);
  const images = (audit("network-requests").details?.items ?? []).filter(
    (r) => r.resourceType === "Image",
  );
  const report = {
    formFactor,
    lighthouse: lhr.lighthouseVersion,
    runtimeError: lhr.runtimeError?.message ?? null,
    warnings: lhr.runWarnings,
    scores: Object.fromEntries(
      Object.entries(lhr.categories).map(([id, c]) => [id, Math.round((c.score ?? 0) * 100)]),
    ),
    failing: {
      accessibility: failing("accessibility"),
      seo: failing("seo"),
    },
    lcpMs: audit("largest-contentful-paint").numericValue,
    fcpMs: audit("first-contentful-paint").numericValue,
    tbtMs: audit("total-blocking-time").numericValue,
    cls: audit("cumulative-layout-shift").numericValue,
    lcpElement: audit("largest-contentful-paint-element").details?.items?.[0]?.items?.[0]?.node
      ?.snippet ?? null,
    imageRequests: images.length,
    imageBytes: images.reduce((sum, r) => sum + (r.transferSize ?? 0), 0),
    oversizedBytes: audit("uses-responsive-images").details?.overallSavingsBytes ?? 0,
    offscreenBytes: audit("offscreen-images").details?.overallSavingsBytes ?? 0,
    modernFormatBytes: audit("modern-image-formats").details?.overallSavingsBytes ?? 0,
    totalBytes: audit("total-byte-weight").numericValue,
  };
  process.stdout.write(JSON.stringify(report) + "\n");
} finally {
  clearTimeout(watchdog);
  await chrome.kill();
}
