// Subscribe to OneGrid's change feed with the reference graphql-ws client and print each message as a JSON line.
// Usage: node subscribe.mjs <ws url> <access token> <messages to wait for>
// Prints {"ready": true} once the server acknowledged the connection, one {"change": {...}} per message, and
// {"error": ...} or {"closed": code} if the socket ends before; exits 0 after the last expected message.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, wanted] = process.argv.slice(2);
let seen = 0;
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
  on: {
    connected: () => say({ ready: true }),
    closed: (event) => say({ closed: event.code, reason: event.reason }),
  },
});
client.subscribe(
  { query: "subscription { changes { cursor kind objectType } }" },
  {
    next: (message) => {
      if (message.errors) say({ error: message.errors });
      else say({ change: message.data.changes });
      seen += 1;
      if (seen >= Number(wanted)) {
        client.dispose();
        process.exit(0);
      }
    },
    error: (error) => { say({ error: String(error && (error.message || error.reason || error)) }); process.exit(1); },
    complete: () => { say({ complete: true }); process.exit(1); },
  },
);
