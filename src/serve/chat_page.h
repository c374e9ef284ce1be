// The chat page served at / by `pangu serve`: one self-contained HTML file (no external assets), which
// streams answers from /v1/chat/completions and shows, per reply, the strategy and the decoding speed.
#pragma once

#include <string>

namespace pangu::serve {

const std::string& chat_page_html();

}  // namespace pangu::serve
