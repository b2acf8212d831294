/** The baseline for bench/realtime: a bare Socket.io server whose /emit broadcasts a timestamp to one room. */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2] ?? 0);
const http = createServer((req, res) => {
  if (req.url === '/emit') {
    io.to('room').emit('tick', { t: Date.now() });
    res.end('ok');
  } else if (req.url === '/rss') {
    res.end(String(process.memoryUsage().rss));
  } else res.writeHead(404).end();
});
const io = new Server(http, { serveClient: false, pingInterval: 10_000, pingTimeout: 10_000 });
io.on('connection', (socket) => void socket.join('room'));
http.listen(port, '127.0.0.1', () => console.log(`listening ${(http.address() as { port: number }).port}`));
