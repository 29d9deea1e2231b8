/**
 * apps/jvm-lite — a JVM for class files compiled by javac 17 (DESIGN.md
 * section 5). The interpreter and compiler arrive with their issue; this file
 * holds the class-file constants every layer will share.
 */

/** The class file magic number (JVMS 4.1). */
export const CLASS_MAGIC = 0xcafebabe;

/** Class file major versions jvm-lite targets (JVMS 4.1, Table 4.1-A): Java 17 is 61. */
export const CLASS_MAJOR_JAVA_17 = 61;
