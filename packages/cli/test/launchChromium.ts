import sparticuz from '@sparticuz/chromium'
import { type Browser, chromium } from 'playwright-core'

/**
 * Headless Chromium for the browser tests and benches: the build shipped inside the npm package
 * `@sparticuz/chromium` (inflated to the temp directory on first use), driven by playwright-core, so
 * `npm install` is all a machine needs. Pages get a fixed locale from `newPage({ locale })`.
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await sparticuz.executablePath(), args: sparticuz.args, headless: true })
}
