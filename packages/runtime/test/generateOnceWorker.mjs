// Worker-thread entry: registers the TypeScript loader, then runs generateOnce.ts in this thread.
import { register } from 'tsx/esm/api'

register()
await import('./generateOnce.ts')
