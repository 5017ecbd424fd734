// Catch2 v2 main, in its own file: it is slow to compile and built once.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
