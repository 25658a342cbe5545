// Plain data from a pickle as JSON, for dataset split files (KSDD2 `split_*.pyb`, Sensum `*.pckl`): lists,
// tuples and sets become arrays, dicts with string keys objects (other dicts arrays of [key, value]),
// bytes latin-1 strings. A class, call or persistent id is not data: ErrorCode::Input names it.
#pragma once
#include <string>

#include "io/json.h"
#include "io/pickle.h"

namespace ssn {

Json pickle_to_json(const pickle::Value& value, const std::string& source);

// Reads the file at `path` (one pickle) and returns its JSON text.
std::string read_pickle_json(const std::string& path);

}  // namespace ssn
