export { attach, listenerOf, socketOptions, type Listener, type ListenOptions, type SocketOptions } from "./attach.js";
