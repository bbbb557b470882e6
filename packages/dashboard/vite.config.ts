import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/** The dashboard page: web/ built into dist-web/, which the dashboard API serves at `/`. */
export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  base: './',
  build: { outDir: fileURLToPath(new URL('./dist-web', import.meta.url)), emptyOutDir: true },
  logLevel: 'warn',
})
