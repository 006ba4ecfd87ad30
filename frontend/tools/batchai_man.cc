// batchai-man: prints batchai(1) for the installation, which generates it
// at install time. Not installed itself.
#include <iostream>

#include "frontend/man_page.h"

int main() {
  std::cout << batchai::frontend::man_page();
  return std::cout ? 0 : 1;
}
