import type { Server } from 'node:http';
export function serveWeb(port?: number, dir?: string): Promise<Server>;
