// Process entry point of the `verity` command (bin/verity.js runs its compiled form).
import { main } from './main.js'

process.exitCode = await main(process.argv)
