// Registers the engine's functions on the addon's exports (engine-addon.cc; called from addon.cc Init).
#pragma once
#include <napi.h>

namespace abq::engine {
void registerEngineBindings(Napi::Env env, Napi::Object exports);
}
