// The memory behind a JS buffer as V8 owns it. A request pins its JS typed array, but JS can still
// take the bytes away from that object (structuredClone/postMessage transfer,
// ArrayBuffer.prototype.transfer): the new owner gets the same backing store and may be collected
// while the kernel still reads or writes it. Holding the backing store keeps the bytes alive.
#pragma once
#include <napi.h>
#include <v8.h>

#include <memory>

using Store = std::shared_ptr<v8::BackingStore>;

// A napi_value is the address of a V8 handle (Node's own v8impl::V8LocalValueFromJsValue).
v8::Local<v8::Value> V8Local(napi_value v);

// The backing store of a typed array, DataView or ArrayBuffer; null for anything else.
Store StoreOf(napi_value v);
