# Turns a text file (a Lua script) into a C array so it ships inside the binary.
# Usage: cmake -DIN=file -DOUT=file.c -DSYM=name -P embed.cmake
file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," content "${content}")
file(WRITE ${OUT} "/* Generated from ${IN}; do not edit. */\nconst char ${SYM}[] = {${content} 0x00};\n")
