/**
 * The page formats every number and time with one explicit locale, whatever the browser reports.
 *
 * `navigator.language` may be a tag Intl refuses: headless Chromium under `LANG=C.UTF-8` reports
 * `en-US@posix`, and `new Intl.NumberFormat('en-US@posix')` throws "Invalid language tag". uPlot
 * builds its axis and legend formatter from `navigator.language` when its module loads, so this
 * module is imported first and shows uPlot the page's locale: the charts format like the rest.
 */
export const LOCALE = 'en-US'

if (typeof navigator !== 'undefined' && navigator.language !== LOCALE)
  Object.defineProperty(navigator, 'language', { value: LOCALE, configurable: true })

/** A count or amount with grouping (`1,234,567`). */
export const formatNumber = (n: number, options?: Intl.NumberFormatOptions): string => n.toLocaleString(LOCALE, options)

/** A wall-clock time (`10:42:07 PM`). */
export const formatTime = (date: Date): string => date.toLocaleTimeString(LOCALE)
