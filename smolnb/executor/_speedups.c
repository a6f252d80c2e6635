/* The guard's `*` on the hot path, in C.
 *
 * Every `a * b` in guarded code becomes `__snb_mul__(a, b)`, which refuses products that would
 * build a huge int or sequence (guards.checked_mul). As a Python function that call doubles the
 * cost of a float product in a loop; here, the two cases that cannot grow (a float operand, or two
 * ints that fit in 64 bits) multiply directly, and everything else goes to the Python rule, the
 * one place its semantics live.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *checked_mul_py = NULL; /* guards.checked_mul, set by install() */

static int
fits_64(PyObject *x)
{
    int overflow = 0;
    long long value = PyLong_AsLongLongAndOverflow(x, &overflow);
    if (value == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return overflow == 0;
}

static PyObject *
checked_mul(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "checked_mul expects two arguments");
        return NULL;
    }
    PyObject *a = args[0], *b = args[1];
    if (PyFloat_CheckExact(a) || PyFloat_CheckExact(b))
        return PyNumber_Multiply(a, b);
    if (PyLong_CheckExact(a) && PyLong_CheckExact(b) && fits_64(a) && fits_64(b))
        return PyNumber_Multiply(a, b);
    if (checked_mul_py == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "smolnb.executor._speedups.install() was not called");
        return NULL;
    }
    return PyObject_Vectorcall(checked_mul_py, args, 2, NULL);
}

static PyObject *
install(PyObject *module, PyObject *fallback)
{
    if (!PyCallable_Check(fallback)) {
        PyErr_SetString(PyExc_TypeError, "install() expects the Python checked_mul");
        return NULL;
    }
    Py_XSETREF(checked_mul_py, Py_NewRef(fallback));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"checked_mul", (PyCFunction)(void (*)(void))checked_mul, METH_FASTCALL,
     "a * b: floats and 64-bit ints directly, everything else by guards.checked_mul."},
    {"install", install, METH_O, "Set the Python rule the other cases go to."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, methods};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
