export { createApp, type AppOptions } from './app';
export { loadApiConfig, type ApiConfig } from './config';
export { startApiServer, type ApiServer } from './server';
