"""The student side of the harness: call requests and the code that answers them.

Everything in this package imports only NumPy, the standard library, and its
own modules by *relative* import. It can therefore be copied, under any
package name, into an isolated worker that must not be able to import
bpcheck itself, and answer the same requests there as in-process.
"""
