CMakeFiles/medchain.dir/src/cli/main.c.o: /work/wt-appt/src/cli/main.c \
 /usr/include/stdc-predef.h /work/wt-appt/src/cli/cli.h
