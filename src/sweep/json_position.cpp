#include "gradscope/sweep/json_position.hpp"

#include <string>

namespace gradscope {

TextPosition position_of_offset(std::string_view text, std::size_t offset) {
  TextPosition position;
  const std::size_t end = offset < text.size() ? offset : text.size();
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++position.line;
      line_start = i + 1;
    }
  }
  position.column = static_cast<long>(end - line_start) + 1;
  return position;
}

namespace {

// A JSON pointer token: '~' as "~0", '/' as "~1" (RFC 6901).
std::string pointer_token(const std::string& key) {
  std::string token;
  for (char c : key) {
    if (c == '~') {
      token += "~0";
    } else if (c == '/') {
      token += "~1";
    } else {
      token.push_back(c);
    }
  }
  return token;
}

class PositionScanner {
 public:
  PositionScanner(std::string_view text, std::map<std::string, TextPosition>& out)
      : text_(text), out_(out) {}

  void scan() {
    skip_space();
    out_[""] = here();
    value("");
  }

 private:
  bool done() const { return i_ >= text_.size(); }

  TextPosition here() const { return {line_, static_cast<long>(i_ - line_start_) + 1}; }

  void advance() {
    if (text_[i_] == '\n') {
      ++line_;
      line_start_ = i_ + 1;
    }
    ++i_;
  }

  void skip_space() {
    while (!done() &&
           (text_[i_] == ' ' || text_[i_] == '\t' || text_[i_] == '\n' || text_[i_] == '\r')) {
      advance();
    }
  }

  // At an opening quote: the decoded string (escapes other than \uXXXX resolved; \uXXXX kept
  // as written, which only matters for keys no flag has).
  std::string string() {
    std::string s;
    advance();  // "
    while (!done() && text_[i_] != '"') {
      if (text_[i_] == '\\' && i_ + 1 < text_.size()) {
        advance();
        const char c = text_[i_];
        switch (c) {
          case 'n':
            s.push_back('\n');
            break;
          case 't':
            s.push_back('\t');
            break;
          case 'r':
            s.push_back('\r');
            break;
          case 'b':
            s.push_back('\b');
            break;
          case 'f':
            s.push_back('\f');
            break;
          case 'u':
            s += "\\u";
            break;
          default:
            s.push_back(c);
        }
        advance();
        continue;
      }
      s.push_back(text_[i_]);
      advance();
    }
    if (!done()) advance();  // "
    return s;
  }

  void value(const std::string& pointer) {
    if (done()) return;
    const char c = text_[i_];
    if (c == '{') {
      object(pointer);
    } else if (c == '[') {
      array(pointer);
    } else if (c == '"') {
      string();
    } else {
      while (!done() && text_[i_] != ',' && text_[i_] != '}' && text_[i_] != ']' &&
             text_[i_] != ' ' && text_[i_] != '\n' && text_[i_] != '\t' && text_[i_] != '\r') {
        advance();
      }
    }
  }

  void object(const std::string& pointer) {
    advance();  // {
    skip_space();
    while (!done() && text_[i_] != '}') {
      if (text_[i_] != '"') return;  // malformed: stop
      const TextPosition key_position = here();
      const std::string member = pointer + "/" + pointer_token(string());
      out_[member] = key_position;
      skip_space();
      if (done() || text_[i_] != ':') return;
      advance();
      skip_space();
      value(member);
      skip_space();
      if (!done() && text_[i_] == ',') {
        advance();
        skip_space();
      }
    }
    if (!done()) advance();  // }
  }

  void array(const std::string& pointer) {
    advance();  // [
    skip_space();
    long index = 0;
    while (!done() && text_[i_] != ']') {
      const std::string element = pointer + "/" + std::to_string(index++);
      out_[element] = here();
      const std::size_t before = i_;
      value(element);
      if (i_ == before) return;  // malformed: stop
      skip_space();
      if (!done() && text_[i_] == ',') {
        advance();
        skip_space();
      }
    }
    if (!done()) advance();  // ]
  }

  std::string_view text_;
  std::map<std::string, TextPosition>& out_;
  std::size_t i_ = 0;
  long line_ = 1;
  std::size_t line_start_ = 0;
};

}  // namespace

std::map<std::string, TextPosition> json_value_positions(std::string_view text) {
  std::map<std::string, TextPosition> positions;
  PositionScanner(text, positions).scan();
  return positions;
}

}  // namespace gradscope
