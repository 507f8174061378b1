export { attach, listenerOf, type Listener, type ListenOptions } from "./attach.js";
