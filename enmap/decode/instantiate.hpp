#pragma once
// enmap/decode/ the visitors every grammar file instantiates Parser<V>'s members for: NullVisitor
// (the canonical JSON path) and ValueVisitor (decode_value_visit).

#include "enmap/decode/parser.hpp"

#define ENMAP_DECODE_INSTANTIATE(MEMBER)           \
    template MEMBER(::enmap::decode::NullVisitor); \
    template MEMBER(::enmap::ValueVisitor)
