// jstat ships no types; these are the declarations of the one function we use.
declare module 'jstat' {
  const jStat: {
    studentt: {
      /** P(T <= x) for Student's t with `dof` degrees of freedom. */
      cdf(x: number, dof: number): number;
    };
  };
  export default jStat;
}
