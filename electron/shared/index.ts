/** The contract between renderer, preload, main and host. Imports nothing outside itself but zod. */
export * from './api'
export * from './config'
export * from './errors'
export * from './events'
export * from './jobs'
export * from './protocol'
export * from './routes'
export * from './system'
