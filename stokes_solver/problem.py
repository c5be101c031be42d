"""The Stokes problem on an extruded mesh: spaces, boundary conditions, residual, and the
Jacobian forms that ``solver.solve`` iterates with.

Discretisation: Taylor-Hood Q2-Q1 on hexahedra (quadrilateral-based extruded meshes; Q2-Q1 on
quadrilaterals for flowlines), inf-sup stable, with quadrature of degree
``options.QUADRATURE_DEGREE``. The weak form is the derivative of the action of ``physics``.
Each nonlinear iteration solves with ``StokesProblem.stepping_jacobian``: the Picard
(frozen-viscosity) operator, the same at a constant viscosity for the first step from rest,
or the exact Newton Jacobian, chosen by two weights.
"""

from dataclasses import dataclass, field

import firedrake as fd
import numpy as np
import ufl
from ufl.algorithms import expand_derivatives

from glacier.constants import GLEN_N
from stokes_solver import physics
from stokes_solver.options import QUADRATURE_DEGREE, SLIDING_SCALE


@dataclass
class StokesProblem:
    """A Stokes flow problem on an extruded ``mesh`` (last coordinate = elevation, m).

    ``arrhenius`` A (MPa^-3 a^-1) and ``body_force`` rho g (MPa m-1) are UFL expressions.
    ``friction`` None means no slip at the bed (u = 0 on "bottom"); a Friction means Weertman
    sliding with impenetrability on the unit normal ``bed_normal`` (a continuous field; None:
    the facet normal). ``walls``: ids of the lateral boundaries where u = 0 (the
    others are stress free, as are periodic meshes). ``stress_scale`` (MPa) sets the Picard
    start.
    """

    mesh: object
    arrhenius: object
    body_force: object
    friction: physics.Friction | None = None
    walls: tuple = ()
    bed_normal: object = None
    stress_scale: float = 0.1
    n: float = GLEN_N
    spaces: tuple = field(init=False)
    newton: dict = field(init=False, repr=False)
    """Per preset, the nonlinear solver of this problem (a ``solver._Stepper``), kept for the
    next solve (see ``solver.solve``)."""

    def __post_init__(self):
        V = fd.VectorFunctionSpace(self.mesh, "CG", 2)
        Q = fd.FunctionSpace(self.mesh, "CG", 1)
        self.spaces = (V, Q, V * Q)
        self.newton = {}

    @property
    def function_space(self):
        return self.spaces[2]

    def normal(self):
        """The bed normal of the friction and impenetrability terms."""
        return fd.FacetNormal(self.mesh) if self.bed_normal is None else self.bed_normal

    def measures(self):
        md = {"quadrature_degree": QUADRATURE_DEGREE}
        return fd.dx(metadata=md), fd.ds_b(metadata=md)

    def boundary_conditions(self):
        Z = self.function_space
        bcs = []
        if self.friction is None:
            bcs.append(fd.DirichletBC(Z.sub(0), 0, "bottom"))
        if self.walls:
            bcs.append(fd.DirichletBC(Z.sub(0), 0, self.walls))
        return bcs

    def residual(self, w):
        """The weak form dL/dw of the Glen / Weertman problem (MPa m^2 in 3-D, MPa m on a
        flowline)."""
        u, p = fd.split(w)
        dx, ds_bed = self.measures()
        return fd.derivative(physics.action(
            u, p, self.arrhenius, self.body_force, dx=dx, ds_bed=ds_bed, friction=self.friction,
            n=self.n, bed_normal=self.bed_normal), w)

    def stepping_jacobian(self, w, constant_start, newton_weight):
        """The bilinear form each nonlinear iteration solves with (and ``direct`` factors): the
        Picard operator A(u) of the iterate u (its Glen viscosity and linearised friction; with
        ``constant_start`` = 1, those of ``stress_scale`` and ``options.SLIDING_SCALE``) plus
        ``newton_weight`` times the rest of the Newton Jacobian of ``residual``. The weights are
        Constants set per iteration: (1, 0) the first Picard step from rest, (0, 0) a Picard
        step, (0, 1) a Newton step. A Picard step solves A(u_k) du = -F(u_k) = f - A(u_k) u_k,
        so u_k + du is the frozen-viscosity solution; all steps share one matrix, its sparsity
        and its symbolic factorization.

        Built as the second derivative of an action whose linearised terms take their
        viscosity and friction from a placeholder velocity, which is then replaced by u.
        """
        u, p = fd.split(w)
        frozen = fd.Function(self.spaces[0])
        s, t = constant_start, newton_weight

        def linearised(coefficient):
            return s * coefficient(None) + (1 - s) * coefficient(frozen), coefficient(frozen)

        eta, eta_u = linearised(self.picard_viscosity)
        viscous = physics.linear_dissipation(u, eta - t * eta_u) + \
            t * physics.viscous_dissipation(u, self.arrhenius, self.n)
        basal = None
        if self.friction is not None:
            beta, beta_u = linearised(self.picard_friction)

            def basal(u_t):
                return 0.5 * (beta - t * beta_u) * fd.inner(u_t, u_t) + \
                    t * physics.friction_dissipation(u_t, self.friction)

        dx, ds_bed = self.measures()
        action = physics.action(u, p, self.arrhenius, self.body_force, dx=dx, ds_bed=ds_bed,
                                friction=self.friction, n=self.n, viscous=viscous, basal=basal,
                                bed_normal=self.bed_normal)
        hessian = expand_derivatives(fd.derivative(fd.derivative(action, w), w))
        return ufl.replace(hessian, {frozen: u})

    def picard_viscosity(self, frozen):
        """Glen viscosity of ``frozen`` (MPa a), or the constant-stress viscosity
        tau^(1-n) / (2A) of ``stress_scale`` when there is none yet (the first step)."""
        if frozen is None:
            return fd.Constant(self.stress_scale) ** (1 - self.n) / (2 * self.arrhenius)
        return physics.viscosity(frozen, self.arrhenius, self.n)

    def picard_friction(self, frozen):
        """Linear friction coefficient c |u_t|^(1/m-1) of ``frozen`` (MPa a m-1), at the speed
        ``options.SLIDING_SCALE`` on the first step."""
        m = self.friction.exponent
        if frozen is None:
            return self.friction.coefficient * SLIDING_SCALE ** (1 / m - 1)
        u_t = physics.tangential(frozen, self.normal())
        speed2 = fd.inner(u_t, u_t) + physics.SLIDING_SPEED_MIN ** 2
        return self.friction.coefficient * speed2 ** ((1 / m - 1) / 2)

    def rigid_body_modes(self):
        """Near-null space of the velocity block (translations and rotations) for GAMG."""
        V = self.spaces[0]
        x = fd.SpatialCoordinate(self.mesh)
        dim = len(x)
        if dim == 2:
            modes = [fd.as_vector([1, 0]), fd.as_vector([0, 1]), fd.as_vector([-x[1], x[0]])]
        else:
            modes = [fd.as_vector(e) for e in np.eye(3)] + [
                fd.as_vector([-x[1], x[0], 0]), fd.as_vector([-x[2], 0, x[0]]),
                fd.as_vector([0, -x[2], x[1]])]
        basis = fd.VectorSpaceBasis([fd.Function(V).interpolate(m) for m in modes])
        basis.orthonormalize()
        return fd.MixedVectorSpaceBasis(self.function_space, [basis, self.function_space.sub(1)])
