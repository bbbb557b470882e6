// Worker-thread entry: registers the TypeScript loader, then runs runOnce.ts in this thread.
import { register } from 'tsx/esm/api'

register()
await import('./runOnce.ts')
