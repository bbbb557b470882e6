export { evaluate } from './commands/evaluate.js'
export { modelImport } from './commands/modelImport.js'
export { runCommand } from './commands/run.js'
export { main, program } from './main.js'
