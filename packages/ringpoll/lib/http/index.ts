// ringpoll/http: node:http servers on ringpoll sockets.
export { serve, ringpollListener, type ServeOptions } from "./serve.js";
export { attach, listenerOf, socketOptions, type Listener, type ListenOptions, type SocketOptions } from "./attach.js";
