export { dashboardApi } from './dashboardApi.js'
export { createIndexer, type Indexer, type IndexerOptions } from './indexer.js'
export { IndexStore } from './indexStore.js'
export { PAGE_DIR, servePage } from './servePage.js'
