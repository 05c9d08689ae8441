// Open a built story page in Debian's Chromium (driven by playwright-core, no browser download),
// wait for every image in document order, save a full-page screenshot, print a JSON report.
//
//   node check_gallery.mjs URL SCREENSHOT.png USER_DATA_DIR [CHROMIUM]
//
// Exit 0 with the report on stdout; non-zero with the reason on stderr.
import { chromium } from "playwright-core";

const [url, screenshot, userDataDir, executablePath = "/usr/bin/chromium"] = process.argv.slice(2);
if (!url || !screenshot || !userDataDir) {
  console.error("usage: node check_gallery.mjs URL SCREENSHOT.png USER_DATA_DIR [CHROMIUM]");
  process.exit(2);
}
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--disable-dev-shm-usage",
];
const watchdog = setTimeout(() => {
  console.error("check_gallery: gave up after 45 s");
  process.exit(3);
}, 45_000);

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: ARGS,
  viewport: { width: 1280, height: 900 },
  deviceScaleFactor: 1,
  timeout: 30_000,
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const failed = [];
  const errors = [];
  page.on("requestfailed", (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on("response", (r) => r.status() >= 400 && failed.push(`${r.url()}: HTTP ${r.status()}`));
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

  const response = await page.goto(url, { waitUntil: "load", timeout: 15_000 });
  // Lazy images load once near the viewport: bring each into view, then wait for it to settle.
  const images = page.locator("img");
  const count = await images.count();
  for (let i = 0; i < count; i++) {
    const img = images.nth(i);
    await img.scrollIntoViewIfNeeded({ timeout: 5_000 });
    await page.waitForFunction((el) => el.complete, await img.elementHandle(), { timeout: 10_000 });
    await img.evaluate((el) => el.decode().catch(() => undefined));
  }
  await page.evaluate(() => window.scrollTo(0, 0));

  const report = await page.evaluate(() => {
    const describe = (img) =>
      img && {
        currentSrc: img.currentSrc,
        naturalWidth: img.naturalWidth,
        naturalHeight: img.naturalHeight,
        complete: img.complete,
        shownWidth: Math.round(img.getBoundingClientRect().width),
        shownHeight: Math.round(img.getBoundingClientRect().height),
      };
    return {
      title: document.title,
      images: document.images.length,
      header: describe(document.querySelector(".story-header img")),
      items: [...document.querySelectorAll(".gallery-item")].map((li) => ({
        name: li.dataset.name ?? null,
        photo: li.dataset.photo ?? null,
        caption: li.querySelector("figcaption")?.textContent.trim() ?? null,
        image: describe(li.querySelector("img")),
      })),
    };
  });
  await page.screenshot({ path: screenshot, fullPage: true });
  report.status = response?.status() ?? null;
  report.failed = failed;
  report.errors = errors;
  process.stdout.write(JSON.stringify(report) + "\n");
} finally {
  clearTimeout(watchdog);
  await context.close();
}
