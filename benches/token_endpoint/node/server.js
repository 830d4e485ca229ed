// Reference token endpoint for the benchmark: Node's http module and LiveKit's official
// livekit-server-sdk, the setup LiveKit's docs show. Same contract as lk-backend's
// POST /api/token (bearer check, JSON body, 201 {server_url, participant_token}).
import http from 'node:http';
import { AccessToken } from 'livekit-server-sdk';

const port = Number(process.argv[2] || 8092);
const { LIVEKIT_API_KEY: key, LIVEKIT_API_SECRET: secret, BENCH_TOKEN: bearer } = process.env;

http
  .createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/api/token') {
      res.writeHead(404).end();
      return;
    }
    if (req.headers.authorization !== `Bearer ${bearer}`) {
      res.writeHead(401).end();
      return;
    }
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', async () => {
      try {
        const body = data ? JSON.parse(data) : {};
        const identity = body.participant_identity || `user-${Math.random().toString(36).slice(2, 14)}`;
        const room = body.room_name || `room-${Math.random().toString(36).slice(2, 14)}`;
        const at = new AccessToken(key, secret, { identity, name: body.participant_name, ttl: 3600 });
        at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true });
        const participant_token = await at.toJwt();
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ server_url: 'ws://127.0.0.1:7880', participant_token }));
      } catch (e) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(e) }));
      }
    });
  })
  .listen(port, '127.0.0.1', () => console.log(`node token server ready on http://127.0.0.1:${port}`));
